//! Reports rendered from `results.json` only (Markdown, HTML with SVG charts,
//! CSV) and `compare` of two runs. (Being built: see issue "Comparison
//! reports".)
