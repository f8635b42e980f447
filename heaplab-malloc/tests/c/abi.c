/* The C-ABI checks of heaplab-malloc, run with the library preloaded
 * (tests/abi.rs builds and runs this). Each mode prints "ok <mode>" and
 * exits 0, or names the first broken promise and exits 1. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            exit(1);                                                          \
        }                                                                     \
    } while (0)

/* Before main: the loader runs constructors, which may allocate. */
static char *early;
__attribute__((constructor)) static void before_main(void) {
    early = malloc(100);
    if (early) strcpy(early, "before main");
}

static int preloaded(void) {
    /* Our malloc_usable_size of a 1-byte block is the 16-byte class. */
    void *p = malloc(1);
    size_t n = malloc_usable_size(p);
    free(p);
    return n == 16;
}

static void fill(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 31 + seed);
}
static int same(const unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 31 + seed)) return 0;
    return 1;
}

static void basics(void) {
    CHECK(early && strcmp(early, "before main") == 0);
    free(early);
    /* malloc(0): a unique, freeable pointer. */
    void *z1 = malloc(0), *z2 = malloc(0);
    CHECK(z1 && z2 && z1 != z2);
    free(z1);
    free(z2);
    free(NULL);
    /* Usable size at least the request, every pointer 16-aligned. */
    for (size_t n = 1; n < 300000; n = n * 5 / 4 + 1) {
        unsigned char *p = malloc(n);
        CHECK(p && ((uintptr_t)p & 15) == 0);
        CHECK(malloc_usable_size(p) >= n);
        fill(p, n, 7);
        CHECK(same(p, n, 7));
        free(p);
    }
    /* calloc zeroes even reused blocks; overflow gives ENOMEM. */
    for (int round = 0; round < 3; round++) {
        for (size_t n = 8; n < 20000; n *= 3) {
            unsigned char *d = malloc(n);
            memset(d, 0xAB, n);
            free(d);
            unsigned char *c = calloc(1, n);
            CHECK(c);
            for (size_t i = 0; i < n; i++) CHECK(c[i] == 0);
            free(c);
        }
    }
    /* Through volatiles, so that the compiler cannot fold the calls. */
    volatile size_t half = SIZE_MAX / 2, huge = SIZE_MAX - 100;
    errno = 0;
    CHECK(calloc(half, 3) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(malloc(huge) == NULL && errno == ENOMEM);
    /* realloc keeps the content through growth (small -> large) and shrink. */
    size_t sizes[] = {10, 100, 600, 5000, 9000, 100000, 3000000, 50000, 700, 20, 1};
    unsigned char *r = malloc(1);
    fill(r, 1, 3);
    size_t have = 1;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        r = realloc(r, n);
        CHECK(r && malloc_usable_size(r) >= n);
        size_t keep = have < n ? have : n;
        CHECK(same(r, keep, 3));
        fill(r, n, 3);
        have = n;
    }
    CHECK(realloc(r, 0) == NULL);
    /* Every alignment posix_memalign accepts, small and large sizes. */
    for (size_t a = sizeof(void *); a <= (4u << 20); a *= 2) {
        size_t ns[] = {1, 24, 64, 200, 1000, 9000, 70000};
        for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
            void *p = NULL;
            CHECK(posix_memalign(&p, a, ns[k]) == 0);
            CHECK(p && ((uintptr_t)p & (a - 1)) == 0);
            CHECK(malloc_usable_size(p) >= ns[k]);
            memset(p, 1, ns[k]);
            free(p);
        }
    }
    void *bad = (void *)1;
    CHECK(posix_memalign(&bad, 24, 10) == EINVAL && bad == (void *)1);
    CHECK(posix_memalign(&bad, 4, 10) == EINVAL);
    void *q = aligned_alloc(256, 512);
    CHECK(q && ((uintptr_t)q & 255) == 0);
    free(q);
    q = memalign(48, 100); /* rounded up to 64 */
    CHECK(q && ((uintptr_t)q & 63) == 0);
    free(q);
    q = valloc(10);
    CHECK(q && ((uintptr_t)q & 4095) == 0);
    free(q);
    q = pvalloc(5000);
    CHECK(q && ((uintptr_t)q & 4095) == 0 && malloc_usable_size(q) >= 8192);
    free(q);
    /* Foreign memory: frees are ignored, usable size 0. */
    int on_stack;
    void *volatile foreign = &on_stack;
    free(foreign);
    void *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    foreign = (char *)m + 64;
    free(foreign);
    CHECK(malloc_usable_size(foreign) == 0);
    munmap(m, 1 << 16);
    /* The C library's own malloc, reached through dlsym on its handle
     * (RTLD_NEXT from here would find ours, preloaded next): its blocks are
     * foreign to us too. */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    CHECK(libc);
    void *(*libc_malloc)(size_t) = (void *(*)(size_t))dlsym(libc, "malloc");
    CHECK(libc_malloc && libc_malloc != malloc);
    foreign = libc_malloc(100);
    CHECK(foreign && malloc_usable_size(foreign) == 0);
    free(foreign);
}

/* Threads: each allocates, hands half its blocks to the next thread to free
 * (remote frees), exits (its heap is abandoned and adopted). */
#define THREADS 8
#define PER 20000
static void *handoff[THREADS][PER];
static pthread_barrier_t barrier;

/* A program's thread-exit destructor that allocates and frees, running
 * after the allocator's own key destructor (ours was created at load, so
 * it has the lower key and runs first). */
static pthread_key_t exit_key;
static volatile long exit_destructors;
static void at_thread_exit(void *v) {
    CHECK(same(v, 64, 99));
    free(v);
    void *p[100];
    for (int i = 0; i < 100; i++) p[i] = malloc(1 + i * 50);
    for (int i = 0; i < 100; i++) free(p[i]);
    __atomic_fetch_add(&exit_destructors, 1, __ATOMIC_RELAXED);
}

static void *worker(void *arg) {
    long id = (long)arg;
    unsigned char *mine = malloc(64);
    fill(mine, 64, 99);
    pthread_setspecific(exit_key, mine);
    for (int i = 0; i < PER; i++) {
        size_t n = 1 + (size_t)(i * 7919 + id) % 3000;
        unsigned char *p = malloc(n);
        CHECK(p);
        fill(p, n < 32 ? n : 32, (unsigned)id);
        handoff[id][i] = p;
    }
    pthread_barrier_wait(&barrier);
    long from = (id + 1) % THREADS;
    for (int i = 0; i < PER; i++) {
        unsigned char *p = handoff[from][i];
        size_t n = 1 + (size_t)(i * 7919 + from) % 3000;
        CHECK(same(p, n < 32 ? n : 32, (unsigned)from));
        free(p);
    }
    /* Churn of its own after the remote frees. */
    for (int i = 0; i < PER; i++) free(malloc(1 + i % 700));
    return NULL;
}

static void threads(void) {
    CHECK(pthread_key_create(&exit_key, at_thread_exit) == 0);
    for (int round = 0; round < 3; round++) {
        pthread_t t[THREADS];
        pthread_barrier_init(&barrier, NULL, THREADS);
        for (long i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
        for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
        pthread_barrier_destroy(&barrier);
    }
    CHECK(exit_destructors == 3 * THREADS);
}

/* Fork while other threads allocate: the child allocates, frees the
 * parent's blocks, and exits cleanly. */
static volatile int stop;
static void *churn(void *arg) {
    (void)arg;
    while (!stop) {
        void *p[64];
        for (int i = 0; i < 64; i++) p[i] = malloc(1 + i * 37);
        for (int i = 0; i < 64; i++) free(p[i]);
    }
    return NULL;
}

static void forks(void) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, churn, NULL);
    void *mine = malloc(200);
    for (int k = 0; k < 50; k++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            void *p[1000];
            for (int i = 0; i < 1000; i++) p[i] = malloc(1 + i * 13);
            for (int i = 0; i < 1000; i++) free(p[i]);
            free(mine);
            _exit(0);
        }
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    stop = 1;
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    free(mine);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    if (!preloaded()) {
        fprintf(stderr, "heaplab-malloc is not preloaded\n");
        return 1;
    }
    if (strcmp(argv[1], "basics") == 0) basics();
    else if (strcmp(argv[1], "threads") == 0) threads();
    else if (strcmp(argv[1], "fork") == 0) forks();
    else if (strcmp(argv[1], "realloc-foreign") == 0) {
        /* Its size is unknown: the allocator must stop with one line. */
        static char not_ours[64];
        void *volatile p = not_ours;
        p = realloc(p, 200);
        printf("realloc returned %p\n", p);
        return 0;
    }
    else return 2;
    printf("ok %s\n", argv[1]);
    return 0;
}
