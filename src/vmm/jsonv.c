/* JSON object validation against a field table (see jsonv.h). */
#include "vmm/jsonv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JV_FAIL(...)                                   \
	do {                                           \
		snprintf(err, errlen, __VA_ARGS__);    \
		return -EINVAL;                        \
	} while (0)

static const struct jv_field *find_field(const struct jv_field *f, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return &f[i];
	return NULL;
}

static int store_string(const cJSON *v, const char *what, const struct jv_field *f,
			void *dst, char *err, size_t errlen)
{
	char **slot = (char **)((char *)dst + f->offset);

	if (cJSON_IsNull(v) && f->type == JV_STRING_NULL)
		return 0;
	if (!cJSON_IsString(v))
		JV_FAIL("%s.%s: must be a string", what, f->name);
	if (!f->allow_empty && !v->valuestring[0])
		JV_FAIL("%s.%s: must not be empty", what, f->name);
	free(*slot);
	*slot = strdup(v->valuestring);
	if (!*slot)
		JV_FAIL("%s.%s: out of memory", what, f->name);
	return 0;
}

static int store_value(const cJSON *v, const char *what, const struct jv_field *f,
		       void *dst, char *err, size_t errlen)
{
	void *slot = (char *)dst + f->offset;

	switch (f->type) {
	case JV_STRING:
	case JV_STRING_NULL:
		return store_string(v, what, f, dst, err, errlen);
	case JV_UINT:
	case JV_U64: {
		double d = v->valuedouble;

		if (!cJSON_IsNumber(v) || d != floor(d) || d < (double)f->min || d > (double)f->max)
			JV_FAIL("%s.%s: must be an integer from %llu to %llu", what, f->name,
				(unsigned long long)f->min, (unsigned long long)f->max);
		if (f->type == JV_UINT)
			*(unsigned *)slot = (unsigned)d;
		else
			*(uint64_t *)slot = (uint64_t)d;
		return 0;
	}
	case JV_IGNORE:
		return 0;
	case JV_OBJECT: {
		char sub[96];

		/* An optional object given as null is absent (GET /vm/config
		 * writes unset token buckets that way). */
		if (cJSON_IsNull(v) && !f->required)
			return 0;

		snprintf(sub, sizeof(sub), "%s.%s", what, f->name);
		return jv_parse_object(v, sub, f->sub, f->nsub, slot, err, errlen);
	}
	case JV_BOOL:
		if (!cJSON_IsBool(v))
			JV_FAIL("%s.%s: must be true or false", what, f->name);
		*(bool *)slot = cJSON_IsTrue(v);
		return 0;
	case JV_ENUM:
		if (cJSON_IsString(v)) {
			for (unsigned i = 0; f->choices[i]; i++) {
				if (!strcmp(f->choices[i], v->valuestring)) {
					*(unsigned *)slot = i;
					return 0;
				}
			}
		}
		{
			char list[128] = "";

			for (unsigned i = 0; f->choices[i]; i++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
					 i ? ", " : "", f->choices[i]);
			JV_FAIL("%s.%s: must be one of %s", what, f->name, list);
		}
	}
	JV_FAIL("%s.%s: internal error: bad field type", what, f->name);
}

int jv_parse_object(const cJSON *obj, const char *what, const struct jv_field *fields,
		    unsigned nfields, void *dst, char *err, size_t errlen)
{
	return jv_parse_object_opt(obj, what, fields, nfields, dst, false, err, errlen);
}

int jv_parse_object_opt(const cJSON *obj, const char *what, const struct jv_field *fields,
			unsigned nfields, void *dst, bool partial, char *err, size_t errlen)
{
	const cJSON *v;

	if (!cJSON_IsObject(obj))
		JV_FAIL("%s: must be a JSON object", what);
	cJSON_ArrayForEach(v, obj) {
		const struct jv_field *f = find_field(fields, nfields, v->string);
		const cJSON *w;
		int ret;

		if (!f)
			JV_FAIL("%s: unknown field \"%s\"", what, v->string);
		/* cJSON keeps duplicate keys; a second copy is ambiguous input. */
		for (w = v->next; w; w = w->next)
			if (!strcmp(w->string, v->string))
				JV_FAIL("%s.%s: given more than once", what, v->string);
		ret = store_value(v, what, f, dst, err, errlen);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < nfields && !partial; i++)
		if (fields[i].required && !cJSON_GetObjectItemCaseSensitive(obj, fields[i].name))
			JV_FAIL("%s.%s: missing required field", what, fields[i].name);
	return 0;
}
