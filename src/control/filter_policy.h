/* filter_policy.h - Amazon SNS subscription filter policies on message
 * attributes (FilterPolicyScope "MessageAttributes"), parsed once and
 * matched against a message's attributes.
 *
 * A policy is a JSON object whose keys are attribute names and whose values
 * are arrays of conditions. "A subscription accepts a message ... [when]
 * each property name in the filter policy matches a message attribute name.
 * For each matching property name in the filter policy, at least one
 * property value matches the message attribute value": keys are ANDed, the
 * conditions of a key ORed. Attributes the policy does not name are ignored.
 *
 * Conditions (the SNS developer guide's pages):
 *   "rugby"                       exact string match (case-sensitive)
 *   301.5                         exact numeric match: equal as numbers
 *                                 (3.015e2 matches 301.5)
 *   {"prefix": "bas"}             the value begins with "bas"
 *   {"suffix": "ball"}            the value ends with "ball"
 *   {"equals-ignore-case": "x"}   equal ignoring (ASCII) case
 *   {"anything-but": "x" | 100 | ["a", "b"] | [100, 500]
 *                  | {"prefix": "p"} | {"suffix": "s"}}
 *                                 the attribute is present and none of its
 *                                 values is listed (for a String.Array, "it
 *                                 matches if none of the array elements are
 *                                 listed"); a list is all strings or all
 *                                 numbers, and only values of that type count
 *   {"numeric": ["=", 301.5]}     numeric equality
 *   {"numeric": [">", 0, "<=", 150]}, {"numeric": ["<", 0]}
 *                                 a range: a lower bound (> or >=), an upper
 *                                 bound (< or <=), or a lower then an upper
 *   {"cidr": "10.0.0.0/24"}       IP address matching: the value is an IPv4
 *                                 or IPv6 address in the network ("follows
 *                                 the Classless Inter-Domain Routing (CIDR)
 *                                 notation"; no "/n" means the one address)
 *   {"exists": true | false}      key matching: the attribute is present /
 *                                 absent; "exists": false is the only
 *                                 condition a missing attribute can meet
 * Strings match attributes of type String and the string elements of a
 * String.Array (each element "is treated as a separate string"); numbers
 * match attributes of type Number and the number elements of a String.Array.
 * Attributes of other types (Binary) are present but have no value.
 *
 * Constraints enforced at parse time ("Filter policy constraints"):
 *   "A filter policy can have a maximum of five keys."
 *   "The total combination of values in a filter policy must not exceed
 *   150. To calculate the total combination, multiply the number of values
 *   in each array in the filter policy."
 *   "For numeric matching, the value can range from -10^9 to 10^9 (-1
 *   billion to 1 billion), with five digits of accuracy after the decimal
 *   point": numbers are compared as integers of 10^-5 units, and a policy
 *   number outside the range is refused (a message number outside it
 *   matches no numeric condition).
 *   "Amazon SNS does not accept a nested filter policy for attribute-based
 *   filtering": an object that is not an operator is refused.
 *   "The maximum size of a filter policy is 256 KB."
 * Not supported: payload-based filtering (FilterPolicyScope "MessageBody").
 *
 * Sources: https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html
 *          https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html
 *          https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
 *          https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html
 *          https://docs.aws.amazon.com/sns/latest/dg/numeric-value-matching.html
 *          https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html
 *          https://aws.amazon.com/about-aws/whats-new/2021/04/amazon-sns-grows-the-set-of-message-filtering-operators
 *
 * Thread: any; a parsed policy is immutable and may be shared by readers.
 */
#ifndef ALBD_FILTER_POLICY_H
#define ALBD_FILTER_POLICY_H

#include <stddef.h>

#define FP_MAX_KEYS 5
#define FP_MAX_COMBINATIONS 150
#define FP_MAX_SIZE (256 * 1024)

struct fp_policy;

/* A message attribute: NAME, TYPE ("String", "Number", "String.Array",
 * "Binary"; a suffix such as "String.custom" counts as its base type) and
 * VALUE (for a String.Array, a JSON array as text). */
struct fp_attr {
	const char *name, *type, *value;
};

/* Parse the policy JSON_TEXT (NUL-terminated). Returns the policy (the
 * caller's: fp_free) or NULL with a message in ERR naming the problem and,
 * where there is one, the key ("key \"price\": numeric: lower bound 5 is not
 * below upper bound 1"). ERR may be NULL when ERRLEN is 0. "{}" is a policy
 * that matches every message. Thread: any; pure. */
struct fp_policy *fp_parse(const char *json_text, char *err, size_t errlen);

/* Free P. NULL is ignored. Thread: any, but not while another thread uses P. */
void fp_free(struct fp_policy *p);

/* Whether the message with the N attributes ATTRS matches P: 1 or 0. When
 * two attributes have the same name the first counts. Nothing is kept.
 * Thread: any; pure. */
int fp_match(const struct fp_policy *p, const struct fp_attr *attrs, size_t n);

#endif
