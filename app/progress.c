/* The progress line (progress.h, docs/cli.md s.8). */
#include "progress.h"

#include <math.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cl_meter_init(cl_meter *m, const char *what, int on, FILE *f) {
  memset(m, 0, sizeof *m);
  snprintf(m->what, sizeof m->what, "%s", what);
  m->on = on, m->f = f ? f : stderr;
  m->t0 = now_s();
  m->last = -1;
}

char *cl_fmt_duration(char *buf, size_t len, double s) {
  if (!(s >= 0) || s > 1e7) snprintf(buf, len, "?");
  else if (s < 60) snprintf(buf, len, "%.0fs", s);
  else if (s < 3600) snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
  else snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
  return buf;
}

/* One line, redrawn in place with \r; the percentage is the only number
 * followed by % (the Python package reads it). */
void cl_meter_update(void *ctx, double fraction) {
  cl_meter *m = ctx;
  if (!m || !m->on) return;
  double t = now_s();
  if (fraction < 1 && m->last >= 0 && t - m->last < 0.2) return;
  if (fraction >= 1 && m->fraction >= 1 && m->drawn) return;
  m->last = t, m->fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
  double el = t - m->t0, eta = m->fraction > 0 ? el * (1 - m->fraction) / m->fraction : NAN;
  char e1[32], e2[32];
  fprintf(m->f, "\rcldyn: %s %5.1f%%  elapsed %s  ETA %s   ", m->what, 100 * m->fraction,
          cl_fmt_duration(e1, sizeof e1, el), m->fraction > 0 ? cl_fmt_duration(e2, sizeof e2, eta) : "?");
  m->drawn = 1;
  if (m->fraction >= 1) fputc('\n', m->f), m->drawn = 2;
  fflush(m->f);
}

void cl_meter_end(cl_meter *m, int ok) {
  if (ok && m->on) cl_meter_update(m, 1);
  /* a run that stopped early: end the line without claiming 100 % */
  if (m->on && m->drawn == 1) fputc('\n', m->f), fflush(m->f), m->drawn = 2;
}

void cl_span_update(void *span, double fraction) {
  cl_span *s = span;
  if (!s || !s->fn) return;
  double f = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
  s->fn(s->ctx, s->a + (s->b - s->a) * f);
}

cl_span cl_span_part(cl_span *parent, double a, double b) {
  return (cl_span){cl_span_update, parent, a, b};
}
