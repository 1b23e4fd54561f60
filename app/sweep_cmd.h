/* app/sweep_cmd.h - the `cldyn sweep` command: its options, --merge of
 * shard files, --resume of an interrupted output, and the gather and merge
 * of an MPI job's parts (docs/cli.md s.4).  The message passing itself is
 * injected (cl_sweep_comm), so only the CLI's MPI build links MPI. */
#ifndef CLDYN_SWEEP_CMD_H
#define CLDYN_SWEEP_CMD_H

#include "sweep.h"

/* The processes of one sweep job.  Serial: rank 0 of size 1, no functions.
 * With size > 1, every rank calls both functions, in this order, once. */
typedef struct {
  int rank, size;
  void *ctx;
  /* 1 on every rank if ok is 1 on every rank, else 0 */
  int (*all_ok)(void *ctx, int ok);
  /* Rank 0 receives every rank's `len` bytes of `text`: rank r's at
   * (*all) + (*displs)[r], (*lens)[r] bytes long (all three malloc'd, freed
   * by the caller); the other ranks receive NULLs.  Returns CL_ENOMEM (with
   * err) if rank 0 could not allocate. */
  cl_status (*gather)(void *ctx, const char *text, int len, char **all, int **lens, int **displs, char *err);
} cl_sweep_comm;

/* cldyn sweep [--vary NAME=A:B:STEP]... [--shard I/N] [--threads N]
 *             [--resume] COMMAND [options]
 * cldyn sweep --merge [--out PATH] FILE...
 * argv[0] is the program and argv[1] "sweep".  Writes the output files,
 * prints one line on stderr on failure and returns the exit status
 * (status.h).  comm NULL: serial. */
int cl_sweep_main(int argc, char **argv, const cl_sweep_comm *comm);

#endif
