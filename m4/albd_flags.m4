# albd_flags.m4 - compiler flag probes for albd.
#
# ALBD_CHECK_CFLAG(FLAG, [ACTION-IF-OK], [ACTION-IF-NOT])
#   Compile an empty program with CFLAGS="$CFLAGS -Werror FLAG" (-Werror so a
#   compiler that only warns about an unknown flag counts as "no"). Result is
#   cached per flag.
#
# ALBD_ADD_CFLAG(VAR, FLAG)
#   Append FLAG to the shell variable VAR when the compiler accepts it.
#
# ALBD_CHECK_LINK_FLAG(FLAG, [ACTION-IF-OK], [ACTION-IF-NOT])
#   Like ALBD_CHECK_CFLAG but compiles *and links* with FLAG in both CFLAGS
#   and LDFLAGS (for -fsanitize=..., -pthread).
#
# Written here so that building from git needs nothing beyond autoconf and
# automake (no autoconf-archive).

AC_DEFUN([ALBD_CHECK_CFLAG], [
  AS_VAR_PUSHDEF([albd_cv], [albd_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [albd_cv], [
    albd_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
      [AS_VAR_SET([albd_cv], [yes])],
      [AS_VAR_SET([albd_cv], [no])])
    CFLAGS=$albd_save_CFLAGS
  ])
  AS_VAR_IF([albd_cv], [yes], [$2], [$3])
  AS_VAR_POPDEF([albd_cv])
])

AC_DEFUN([ALBD_ADD_CFLAG], [
  ALBD_CHECK_CFLAG([$2], [$1="$$1 $2"])
])

AC_DEFUN([ALBD_CHECK_LINK_FLAG], [
  AS_VAR_PUSHDEF([albd_cv], [albd_cv_ldflag_$1])
  AC_CACHE_CHECK([whether $CC compiles and links with $1], [albd_cv], [
    albd_save_CFLAGS=$CFLAGS
    albd_save_LDFLAGS=$LDFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    LDFLAGS="$LDFLAGS $1"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
      [AS_VAR_SET([albd_cv], [yes])],
      [AS_VAR_SET([albd_cv], [no])])
    CFLAGS=$albd_save_CFLAGS
    LDFLAGS=$albd_save_LDFLAGS
  ])
  AS_VAR_IF([albd_cv], [yes], [$2], [$3])
  AS_VAR_POPDEF([albd_cv])
])
