/* A multi-threaded, allocation-heavy C program for scripts/perf.py: each of
 * THREADS threads keeps a window of 512 live blocks (16 to 2048 bytes),
 * replacing one at random per step; every 16th replaced block is handed to
 * the next thread to free (remote frees). Prints the steps done. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define WINDOW 512
#define STEPS 5000000
#define MAXT 64

static int nthreads;
static void *volatile mailbox[MAXT];

static void *run(void *arg) {
    long id = (long)arg;
    void *live[WINDOW] = {0};
    uint64_t x = 88172645463325252ull + (uint64_t)id * 7919;
    for (long s = 0; s < STEPS; s++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % WINDOW);
        void *old = live[i];
        live[i] = malloc(16 + (x >> 20) % 2033);
        *(volatile char *)live[i] = 1;
        if (old && (s & 15) == 0) {
            /* Hand it over; free whatever the neighbour left. */
            void *prev = __atomic_exchange_n(&mailbox[(id + 1) % nthreads], old, __ATOMIC_ACQ_REL);
            free(prev);
        } else {
            free(old);
        }
    }
    for (int i = 0; i < WINDOW; i++) free(live[i]);
    return NULL;
}

int main(int argc, char **argv) {
    nthreads = argc > 1 ? atoi(argv[1]) : 4;
    if (nthreads < 1 || nthreads > MAXT) return 2;
    pthread_t t[MAXT];
    for (long i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, run, (void *)i);
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < nthreads; i++) free(mailbox[i]);
    printf("%ld\n", (long)nthreads * STEPS);
    return 0;
}
