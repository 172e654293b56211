/* Table-driven validation of JSON objects (cJSON): each field has a name, a
 * type, a range and a destination offset. Unknown fields, missing required
 * fields, wrong types and out-of-range values are rejected with a message
 * naming "<object>.<field>". Shared by the config file and the API. */
#ifndef FEMTOVM_JSONV_H
#define FEMTOVM_JSONV_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jv_type {
	JV_STRING,      /* char *, malloc'd copy; non-empty unless .allow_empty */
	JV_STRING_NULL, /* as JV_STRING, JSON null leaves NULL */
	JV_UINT,        /* unsigned, within [min, max] */
	JV_BOOL,        /* bool */
	JV_ENUM,        /* unsigned index into .choices (exact, case-sensitive) */
	JV_U64,         /* uint64_t, within [min, max] (max ≤ 2^53: exact in JSON) */
	JV_OBJECT,      /* nested object parsed with .sub into the struct at offset;
			 * null when optional = absent */
	JV_IGNORE,      /* allowed here, parsed separately by the caller */
};

struct jv_field {
	const char *name;
	enum jv_type type;
	bool required;
	bool allow_empty;
	size_t offset;               /* into the destination struct */
	uint64_t min, max;           /* JV_UINT */
	const char *const *choices;  /* JV_ENUM, NULL-terminated */
	const struct jv_field *sub;  /* JV_OBJECT */
	unsigned nsub;
};

#define JV_MAX_SAFE_INT (1ULL << 53)

/* Validate @obj against @fields and store into @dst. @what names the object
 * in messages. On error, strings already stored stay owned by @dst (the
 * caller frees them). 0 or -EINVAL with @err filled. */
int jv_parse_object(const cJSON *obj, const char *what, const struct jv_field *fields,
		    unsigned nfields, void *dst, char *err, size_t errlen);

/* As jv_parse_object, but with @partial no field is required (PATCH). */
int jv_parse_object_opt(const cJSON *obj, const char *what, const struct jv_field *fields,
			unsigned nfields, void *dst, bool partial, char *err, size_t errlen);

#endif
