/* The progress line (progress.h, docs/cli.md s.8). */
#include "progress.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cl_meter_init(cl_meter *m, const char *what, int on, FILE *f) {
  memset(m, 0, sizeof *m);
  snprintf(m->what, sizeof m->what, "%s", what);
  m->on = on, m->f = f ? f : stderr;
  m->tty = isatty(fileno(m->f));
  m->t0 = now_s();
  m->last = -1;
  m->step = -1;
}

char *cl_meter_format_duration(char *buf, size_t len, double s) {
  if (!(s >= 0) || s > 1e7) snprintf(buf, len, "?");
  else if (s < 60) snprintf(buf, len, "%.0fs", s);
  else if (s < 3600) snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
  else snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
  return buf;
}

/* The percentage is the only number followed by % (the Python package
 * reads it).  On a terminal the line is redrawn in place: \r, the text,
 * spaces over a longer previous text, and a newline at 100 %; elsewhere
 * each report is a line of its own. */
char *cl_meter_format(const cl_meter *m, double fraction, double elapsed, char *buf, size_t len) {
  double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : NAN;
  char e1[32], e2[32];
  snprintf(buf, len, "%scldyn: %s %5.1f%%  elapsed %s  ETA %s%s", m->tty ? "\r" : "", m->what, 100 * fraction,
           cl_meter_format_duration(e1, sizeof e1, elapsed), fraction > 0 ? cl_meter_format_duration(e2, sizeof e2, eta) : "?",
           !m->tty ? "\n" : fraction >= 1 ? "   \n" : "   ");
  return buf;
}

void cl_meter_at(cl_meter *m, double fraction, double t) {
  if (!m || !m->on) return;
  double fr = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
  if (fr >= 1 && m->fraction >= 1 && m->drawn) return; /* 100 % once */
  int step = (int)floor(fr * CL_METER_STEPS);
  if (fr < 1 && m->last >= 0) {
    if (m->tty && t - m->last < CL_METER_REDRAW_S) return;
    if (!m->tty && t - m->last < CL_METER_SILENCE_S && (step <= m->step || t - m->last < CL_METER_GAP_S)) return;
  }
  m->last = t, m->fraction = fr, m->step = step;
  char line[256];
  fputs(cl_meter_format(m, fr, t - m->t0, line, sizeof line), m->f);
  m->drawn = m->tty && fr < 1 ? 1 : 2;
  fflush(m->f);
}

void cl_meter_update(void *ctx, double fraction) {
  cl_meter *m = ctx;
  if (m && m->on) cl_meter_at(m, fraction, now_s());
}

void cl_meter_end(cl_meter *m, int ok) {
  if (ok && m->on) cl_meter_update(m, 1);
  /* a run that stopped early: end the line without claiming 100 % */
  if (m->on && m->drawn == 1) fputc('\n', m->f), fflush(m->f), m->drawn = 2;
}

void cl_meter2_init(cl_meter2 *p, const char *what, const char *what2, double share, int on, FILE *f) {
  cl_meter_init(&p->m, what, on, f);
  snprintf(p->what2, sizeof p->what2, "%s", what2);
  p->share = share, p->phase = 0;
}

void cl_meter2_update(void *ctx, double fraction) {
  cl_meter2 *p = ctx;
  if (!p || !p->m.on) return;
  if (!p->phase && fraction >= p->share) {
    cl_meter_end(&p->m, 1);
    cl_meter_init(&p->m, p->what2, 1, p->m.f);
    p->phase = 1;
  }
  cl_meter_update(&p->m, p->phase ? (fraction - p->share) / (1 - p->share) : fraction / p->share);
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
