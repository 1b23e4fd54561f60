/* The two layers (docs/cli.md s.6): the library's status codes are not the
 * CLI's exit statuses; the application layer maps one to the other. */
#include <criterion/criterion.h>

#include "app/app.h"

Test(structure, exit_status_mapping) {
  cr_assert_eq(cl_exit_status(CL_OK), 0);
  cr_assert_eq(cl_exit_status(CL_EINVAL), 2);
  cr_assert_eq(cl_exit_status(CL_ENOMEM), 1);
  cr_assert_eq(cl_exit_status(CL_EIO), 1);
  cr_assert_eq(cl_exit_status(CL_EDIVERGE), 1);
  cr_assert_eq(cl_exit_status((cl_status)99), 1);
  /* the library's codes are distinct and none is an exit status by accident
   * of equality with the mapping (bad input is 1 in the library, 2 out) */
  cr_assert_neq((int)CL_EINVAL, cl_exit_status(CL_EINVAL));
}
