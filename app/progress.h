/* app/progress.h - the progress line on stderr (docs/cli.md s.8): what runs,
 * the fraction done, the elapsed time and an estimate of the time left.  On
 * a terminal one line, redrawn at most 5 times a second; elsewhere (a log
 * file, a pipe) plain lines: a further percent at most once a second, and
 * one at least every minute.  The library reports progress through
 * cl_progress_fn callbacks; this is the CLI's drawing of them. */
#ifndef CLDYN_PROGRESS_H
#define CLDYN_PROGRESS_H

#include <stdio.h>

#include "cldyn/common.h"

/* terminal: redraw at most every CL_METER_REDRAW_S; elsewhere: a line when
 * the work has passed a further 1/CL_METER_STEPS and CL_METER_GAP_S have
 * passed since the previous line, or after CL_METER_SILENCE_S in any case
 * (the first report and 100 % are always written) */
#define CL_METER_REDRAW_S 0.2
#define CL_METER_STEPS 100
#define CL_METER_GAP_S 1.0
#define CL_METER_SILENCE_S 60.0

typedef struct {
  char what[96];
  double t0, last, fraction;
  int on, drawn, tty, step;
  FILE *f;
} cl_meter;

/* A meter for `what` drawing on f when `on` (else every call is a no-op);
 * m->tty (whether f is a terminal) chooses the redrawn line or plain lines. */
void cl_meter_init(cl_meter *m, const char *what, int on, FILE *f);
/* The cl_progress_fn of a meter (ctx: the cl_meter). */
void cl_meter_update(void *ctx, double fraction);
/* cl_meter_update at time t (seconds, on the clock of m->t0). */
void cl_meter_at(cl_meter *m, double fraction, double t);
/* The text one report writes, in m's form (m->tty): "\rcldyn: WHAT  42.0%
 * elapsed 3s  ETA 4s   " on a terminal, the same without \r and with a
 * newline elsewhere. */
char *cl_meter_format(const cl_meter *m, double fraction, double elapsed, char *buf, size_t len);
/* End the line: at 100 % when ok, else where it stopped. */
void cl_meter_end(cl_meter *m, int ok);
/* A run in two phases reported as one fraction: [0, share) is the first
 * (drawn as `what`), [share, 1] the second (`what2`); the first line ends at
 * 100 % when the second phase starts, and each phase has its own elapsed
 * time and ETA (basin at M >= 2: the escape law, then the starts). */
typedef struct {
  cl_meter m;
  double share;
  char what2[96];
  int phase;
} cl_meter2;
void cl_meter2_init(cl_meter2 *p, const char *what, const char *what2, double share, int on, FILE *f);
/* The cl_progress_fn of a two-phase meter (ctx: the cl_meter2). */
void cl_meter2_update(void *ctx, double fraction);
/* "42s", "3m05s", "2h07m" */
char *cl_meter_format_duration(char *buf, size_t len, double seconds);

/* A part of a longer task: the fractions reported to cl_span_update (a
 * cl_progress_fn, ctx: the cl_span) are mapped onto [a, b] of the parent
 * callback fn(ctx) (fn NULL: nothing is reported).  Spans nest: a span's
 * parent may be another span's cl_span_update. */
typedef struct {
  cl_progress_fn fn;
  void *ctx;
  double a, b;
} cl_span;

void cl_span_update(void *span, double fraction);
/* The part [a, b] of parent (fractions of it) as a span of its own. */
cl_span cl_span_part(cl_span *parent, double a, double b);

#endif
