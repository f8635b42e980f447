# The Computer Language Benchmarks Game's binary-trees (the plain, one-process
# program), as `heaplab trees N` runs it: the same trees, checks and output.
# For the per-node instruction count beside heaplab's (scripts/trees-instr.sh):
#   valgrind --tool=callgrind /root/.pyenv/versions/3.11.7/bin/python3 scripts/binary-trees.py 14
import sys

MIN_DEPTH = 4


def make_tree(d):
    return (make_tree(d - 1), make_tree(d - 1)) if d else (None, None)


def check_tree(node):
    l, r = node
    if l is None:
        return 1
    return 1 + check_tree(l) + check_tree(r)


def main(n):
    max_depth = max(MIN_DEPTH + 2, n)
    stretch = max_depth + 1
    print(f"stretch tree of depth {stretch}\t check: {check_tree(make_tree(stretch))}")
    long_lived = make_tree(max_depth)
    for d in range(MIN_DEPTH, max_depth + 1, 2):
        iters = 1 << (max_depth - d + MIN_DEPTH)
        check = 0
        for _ in range(iters):
            check += check_tree(make_tree(d))
        print(f"{iters}\t trees of depth {d}\t check: {check}")
    print(f"long lived tree of depth {max_depth}\t check: {check_tree(long_lived)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
