/* The state vector y = (R row-major K x M, upper triangle of Q) (state.h). */
#include "cldyn/state.h"

#include <string.h>

int cl_state_size(int K, int M) { return K * M + M * (M + 1) / 2; }

void cl_state_pack(int K, int M, const double *R, const double *Q, double *y) {
  int k = K * M;
  memcpy(y, R, sizeof(double) * (size_t)(K * M));
  for (int i = 0; i < M; i++)
    for (int l = i; l < M; l++) y[k++] = Q[i * M + l];
}

void cl_state_unpack(int K, int M, const double *y, double *R, double *Q) {
  int k = K * M;
  memcpy(R, y, sizeof(double) * (size_t)(K * M));
  for (int i = 0; i < M; i++)
    for (int l = i; l < M; l++) Q[i * M + l] = Q[l * M + i] = y[k++];
}

