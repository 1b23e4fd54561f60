/* The registry of temporary files and the signal handlers (tmpfiles.h). */
#include "cldyn/tmpfiles.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TMP_LEN 4200

/* The table: blocks of CL_TMP_SLOTS slots in a singly linked list, the
 * first one static, the others allocated when every slot is taken and
 * never freed.  A slot is written only while `used` is 0 and published by
 * setting it to 1 (release); the handler reads only slots whose `used` is
 * 1 (acquire).  A block is allocated and zeroed outside the handler (in
 * cl_tmpfiles_register, under the lock) and published by one atomic store
 * of the `next` pointer of the last block (release): the handler, walking
 * the list with acquire loads, sees either no new block or a whole one,
 * and a block it reaches is never freed.  So the handler only loads
 * atomics, reads published names and calls unlink (async-signal-safe); it
 * never allocates, never takes the lock. */
typedef struct tmp_block {
  struct {
    atomic_int used;
    char path[TMP_LEN];
  } slot[CL_TMP_SLOTS];
  _Atomic(struct tmp_block *) next;
} tmp_block;
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "the handler needs lock-free atomic pointers");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the handler needs lock-free atomic ints");

static tmp_block first;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* A file is created and registered inside a hold, so that no signal falls
 * between the two (it would leave the file behind): `busy` counts the
 * holds of all threads.  A handler that finds a hold open records its
 * signal and returns; the release that closes the last hold removes the
 * files and exits.  `pending` and `busy` are sequentially consistent, so
 * either the handler sees the hold or the holder sees `pending`: a file
 * created meanwhile is registered before anyone exits. */
static atomic_int busy, pending; /* pending: the deferred signal, 0 if none */

int cl_tmpfiles_register(const char *path) {
  size_t n = strlen(path);
  if (n >= TMP_LEN) return -1;
  int rc = -1;
  pthread_mutex_lock(&lock);
  for (tmp_block *b = &first; b && rc; ) {
    for (int i = 0; i < CL_TMP_SLOTS; i++)
      if (!atomic_load_explicit(&b->slot[i].used, memory_order_relaxed)) {
        memcpy(b->slot[i].path, path, n + 1);
        atomic_store_explicit(&b->slot[i].used, 1, memory_order_release);
        rc = 0;
        break;
      }
    tmp_block *next = atomic_load_explicit(&b->next, memory_order_relaxed);
    if (rc && !next && (next = calloc(1, sizeof *next)))
      atomic_store_explicit(&b->next, next, memory_order_release); /* the publication */
    b = next; /* NULL (rc -1) when out of memory */
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

void cl_tmpfiles_unregister(const char *path) {
  pthread_mutex_lock(&lock);
  for (tmp_block *b = &first; b; b = atomic_load_explicit(&b->next, memory_order_relaxed))
    for (int i = 0; i < CL_TMP_SLOTS; i++)
      if (atomic_load_explicit(&b->slot[i].used, memory_order_relaxed) && !strcmp(b->slot[i].path, path)) {
        atomic_store_explicit(&b->slot[i].used, 0, memory_order_release);
        goto done;
      }
done:
  pthread_mutex_unlock(&lock);
}

void cl_tmpfiles_remove_all(void) {
  for (tmp_block *b = &first; b; b = atomic_load_explicit(&b->next, memory_order_acquire))
    for (int i = 0; i < CL_TMP_SLOTS; i++)
      if (atomic_load_explicit(&b->slot[i].used, memory_order_acquire)) unlink(b->slot[i].path);
}

static void die(void) {
  cl_tmpfiles_remove_all();
  _exit(128 + atomic_load(&pending));
}

void cl_tmpfiles_hold(void) { atomic_fetch_add(&busy, 1); }

void cl_tmpfiles_release(void) {
  if (atomic_fetch_sub(&busy, 1) == 1 && atomic_load(&pending)) die();
}

int cl_tmpfiles_mkstemp(char *tmpl) {
  cl_tmpfiles_hold();
  int fd = mkstemp(tmpl);
  if (fd >= 0) cl_tmpfiles_register(tmpl);
  cl_tmpfiles_release();
  return fd;
}

FILE *cl_tmpfiles_open(char *tmpl, const char *mode) {
  int fd = cl_tmpfiles_mkstemp(tmpl);
  FILE *f = fd >= 0 ? fdopen(fd, mode) : NULL;
  if (fd >= 0 && !f) {
    int e = errno;
    close(fd), unlink(tmpl), cl_tmpfiles_unregister(tmpl);
    errno = e;
  }
  return f;
}

static void on_signal(int sig) {
  atomic_store(&pending, sig);
  if (atomic_load(&busy) > 0) return; /* the holder exits at its release */
  die();
}

cl_status cl_tmpfiles_install_signals(char *err) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART; /* the handler returns when a hold is open */
  sigfillset(&sa.sa_mask);
  const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (int i = 0; i < 3; i++)
    if (sigaction(sigs[i], &sa, NULL) != 0) return cl_fail(err, CL_EIO, "cannot install signal handlers");
  return CL_OK;
}
