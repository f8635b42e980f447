/* A small client for scripts/memcheck.sh: run under valgrind's memcheck with
 * heaplab-malloc (built with the `valgrind` feature) preloaded.
 *
 *   memcheck        clean: small, large, aligned, calloc and realloc blocks
 *                   across size classes and two threads that free each
 *                   other's blocks (remote frees); memcheck must report no
 *                   error and no leak.
 *   memcheck bugs   three planted bugs, each of which memcheck must report:
 *                   a read after free, a branch on malloc'd memory never
 *                   written, and 10 blocks leaked. Without the client
 *                   requests memcheck sees none of them (our pools are
 *                   plain mmap'd memory to it).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 2000
static void *handoff[N];

static void *other(void *arg) {
    (void)arg;
    for (int i = 0; i < N; i++) free(handoff[i]);
    return NULL;
}

static int clean(void) {
    long sum = 0;
    void *keep[64];
    for (int i = 0; i < 64; i++) {
        size_t n = 1 + (size_t)i * 97;
        char *p = malloc(n);
        memset(p, i, n);
        p = realloc(p, n * 3);
        memset(p + n, 1, n * 2);
        sum += p[n * 3 - 1];
        keep[i] = p;
    }
    for (int i = 0; i < 64; i += 2) free(keep[i]);
    for (int i = 1; i < 64; i += 2) {
        char *q = calloc(1, 200 + (size_t)i);
        sum += q[100];
        free(q);
        free(keep[i]);
    }
    void *a;
    if (posix_memalign(&a, 4096, 100000) != 0) return 1;
    memset(a, 7, 100000);
    free(a);
    char *big = malloc(1 << 20);
    memset(big, 3, 1 << 20);
    big = realloc(big, 3 << 20);
    sum += big[(1 << 20) - 1];      /* copied by realloc */
    free(big);
    for (int i = 0; i < N; i++) {
        handoff[i] = malloc(16 + (size_t)(i % 500));
        memset(handoff[i], 1, 16);
    }
    pthread_t t;
    pthread_create(&t, NULL, other, NULL);
    pthread_join(t, NULL);
    printf("clean %ld\n", sum);
    return 0;
}

static __attribute__((noinline)) void leak(void) {
    for (int i = 0; i < 10; i++) {
        volatile char *p = malloc(100);
        p[0] = 1;
    }
}

static int bugs(void) {
    volatile char *p = malloc(48);
    p[5] = 1;
    free((void *)p);
    int after = p[5];               /* read after free */
    char *u = malloc(64);
    int branch = 0;
    if (u[10] == 42) branch = 1;    /* uninitialised */
    free(u);
    leak();                         /* 10 blocks definitely lost */
    printf("bugs %d %d\n", after, branch);
    return 0;
}

int main(int argc, char **argv) {
    return argc > 1 && strcmp(argv[1], "bugs") == 0 ? bugs() : clean();
}
