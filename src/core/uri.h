/* uri.h - two facts of RFC 3986 that several layers need: the value of a
 * hex digit (percent-encoding) and the unreserved characters (section 2.3:
 * ALPHA DIGIT - . _ ~), whose percent-encoded forms mean the same URI.
 * Thread: any; pure. */
#ifndef ALBD_URI_H
#define ALBD_URI_H

/* The value of hex digit CH (either case), or -1. */
static inline int uri_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Is CH an unreserved character? */
static inline int uri_unreserved(int ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
	       ch == '.' || ch == '_' || ch == '~';
}

#endif
