/* data_classes.h - internal: the feature classes' count under the limit
 * that hist and the PDE share (their per-class arrays, hist's on the
 * stack). */
#ifndef CLDYN_DATA_CLASSES_H
#define CLDYN_DATA_CLASSES_H

#include "cldyn/model.h"

#define CL_DATA_CLASS_MAX 4096

/* *nc = cl_data_feature_classes(m, NULL, NULL); CL_EINVAL, with a message
 * "WHO: the K features give more than 4096 feature classes (2^K or 3^K),
 * WHOSE limit; use fewer features", where it is above CL_DATA_CLASS_MAX */
cl_status cl_data_classes_capped(const cl_model *m, const char *who, const char *whose, int *nc, char *err);

#endif
