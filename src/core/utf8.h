/* utf8.h - UTF-8 as RFC 3629 has it (shortest form, no surrogates, at
 * most U+10FFFF): the one check the config, the AWS wire and CBOR use.
 * Pure. Thread: any. */
#ifndef ALBD_UTF8_H
#define ALBD_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length of the UTF-8 sequence at S (1 to 4; S is NUL-terminated or
 * has room for the sequence its first byte announces), or 0 when S starts
 * none (a NUL included). */
static inline size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0], need;
	uint32_t cp;

	if (c < 0x80)
		return c ? 1 : 0;
	if ((c & 0xe0) == 0xc0)
		need = 1, cp = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		need = 2, cp = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		need = 3, cp = c & 0x07;
	else
		return 0;
	for (unsigned k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

/* Is the NUL-terminated S all UTF-8? */
static inline int utf8_valid(const char *s)
{
	for (size_t n; *s; s += n)
		if (!(n = utf8_seq((const unsigned char *)s)))
			return 0;
	return 1;
}

#endif
