/* PUT /network-interfaces/{id} (pre-boot: add or replace an interface) and
 * PATCH /network-interfaces/{id} (running: new rate limiters). The id in the
 * path must match iface_id in the body. */
#include "api/routes.h"

#include <stdio.h>
#include <string.h>

#include "vmm/jsonv.h"

static const struct jv_field patch_fields[] = {
	{ .name = "iface_id", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct net_patch, iface_id) },
	{ .name = "rx_rate_limiter", .type = JV_IGNORE },
	{ .name = "tx_rate_limiter", .type = JV_IGNORE },
};

/* Parse an optional rate limiter member of a PATCH body. */
static int opt_limiter(const cJSON *body, const char *name, struct rate_limiter_config *rl,
		       bool *has, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
	char what[64];

	if (!v)
		return 0;
	snprintf(what, sizeof(what), "network-interface.%s", name);
	if (config_parse_rate_limiter(v, what, rl, err, errlen))
		return 400;
	*has = true;
	return 0;
}

int api_network_interface(const cJSON *body, const char *id, bool patch, struct action *a,
			  char *err, size_t errlen)
{
	struct net_patch *p = &a->u.net_patch;

	if (!patch) {
		a->kind = ACT_PUT_NET;
		if (config_parse_net(body, "network-interface", &a->u.net, err, errlen))
			return 400;
		return api_check_path_id(id, a->u.net.iface_id, err, errlen);
	}
	a->kind = ACT_PATCH_NET;
	if (jv_parse_object(body, "network-interface", patch_fields, ARRAY_SIZE(patch_fields),
			    p, err, errlen) ||
	    opt_limiter(body, "rx_rate_limiter", &p->rx, &p->has_rx, err, errlen) ||
	    opt_limiter(body, "tx_rate_limiter", &p->tx, &p->has_tx, err, errlen))
		return 400;
	return api_check_path_id(id, p->iface_id, err, errlen);
}
