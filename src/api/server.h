/* The API server: a Unix stream socket served from the event loop, many
 * keep-alive connections, pipelined requests answered in order, bounded
 * buffers; it never blocks the event loop and a bad client never takes the
 * server down. Requests are handed to one handler callback. */
#ifndef FEMTOVM_API_SERVER_H
#define FEMTOVM_API_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "api/http.h"
#include "vmm/event_loop.h"

#define API_MAX_CONNECTIONS 256

struct api_response {
	int status;      /* 200, 204, 400, ... */
	char *body;      /* malloc'd JSON, or NULL for no body */
};

/* Called on the event-loop thread for each complete request. */
typedef void (*api_handler_fn)(void *opaque, const struct http_request *req,
			       struct api_response *resp);

struct api_conn;

struct api_server {
	struct el_handler listen_h;
	struct event_loop *el;
	char *path;
	size_t max_body;
	api_handler_fn handler;
	void *opaque;
	struct api_conn *conns;  /* list of open connections */
	unsigned nconns;
	unsigned long requests;  /* served, for metrics */
	int spare_fd;            /* reserved fd, spent to shed a connection on EMFILE */
	dev_t sock_dev;          /* identity of the socket file we bound, so */
	ino_t sock_ino;          /* destroy never unlinks somebody else's */
};

/* Bind and listen on @path. A stale socket file (nobody listening) is
 * replaced; a live one is an error (-EADDRINUSE) and left alone. */
int api_server_init(struct api_server *s, const char *path, size_t max_body,
		    struct event_loop *el, api_handler_fn fn, void *opaque);

/* Close every connection and the listener, unlink the socket (if the path
 * still names the socket we created). Call it from outside el_run (or after
 * the loop stopped), never from inside the handler. */
void api_server_destroy(struct api_server *s);

#endif
