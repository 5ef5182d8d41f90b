/*
 * libcurl and libstrophe, loaded with dlopen(3) when first needed instead
 * of linked: dyn.c says why.  Include this after <curl/curl.h> and
 * <strophe.h> (it includes them itself): each function of theirs that
 * xmppguard calls becomes a call through the loaded library's table, so
 * the callers keep their code.
 */
#ifndef DYN_H
#define DYN_H

#include <curl/curl.h>
#include <strophe.h>

/* The functions called, each once: the tables and the macros below. */
#define DYN_CURL_FUNCS(X)						\
	X(curl_easy_cleanup) X(curl_easy_escape) X(curl_easy_getinfo)	\
	X(curl_easy_init) X(curl_easy_setopt) X(curl_easy_strerror)	\
	X(curl_free) X(curl_global_cleanup) X(curl_global_init)		\
	X(curl_multi_add_handle) X(curl_multi_cleanup)			\
	X(curl_multi_info_read) X(curl_multi_init)			\
	X(curl_multi_remove_handle) X(curl_multi_setopt)		\
	X(curl_multi_socket_action) X(curl_multi_timeout)		\
	X(curl_slist_append) X(curl_slist_free_all) X(curl_url)		\
	X(curl_url_cleanup) X(curl_url_get) X(curl_url_set)		\
	X(curl_version_info)

#define DYN_STROPHE_FUNCS(X)						\
	X(xmpp_conn_is_disconnected) X(xmpp_conn_is_secured)		\
	X(xmpp_conn_new) X(xmpp_conn_release) X(xmpp_conn_send_queue_len) \
	X(xmpp_conn_set_cafile) X(xmpp_conn_set_certfail_handler)	\
	X(xmpp_conn_set_flags) X(xmpp_conn_set_jid) X(xmpp_conn_set_pass) \
	X(xmpp_conn_set_sockopt_callback) X(xmpp_connect_client)	\
	X(xmpp_ctx_free) X(xmpp_ctx_new) X(xmpp_disconnect) X(xmpp_free) \
	X(xmpp_handler_add) X(xmpp_initialize) X(xmpp_iq_new)		\
	X(xmpp_message_new) X(xmpp_message_set_body) X(xmpp_presence_new) \
	X(xmpp_run_once) X(xmpp_send) X(xmpp_stanza_add_child)		\
	X(xmpp_stanza_get_child_by_name)				\
	X(xmpp_stanza_get_child_by_name_and_ns) X(xmpp_stanza_get_children) \
	X(xmpp_stanza_get_from) X(xmpp_stanza_get_id)			\
	X(xmpp_stanza_get_name) X(xmpp_stanza_get_next)			\
	X(xmpp_stanza_get_type) X(xmpp_stanza_is_tag) X(xmpp_stanza_new) \
	X(xmpp_stanza_release) X(xmpp_stanza_set_attribute)		\
	X(xmpp_stanza_set_name) X(xmpp_stanza_set_ns) X(xmpp_stanza_set_to) \
	X(xmpp_stanza_to_text) X(xmpp_uuid_gen) X(xmpp_sockopt_cb_keepalive)

/* A table member, typed from the library's own declaration. */
#define DYN_MEMBER(fn)	__typeof__(fn) *p_##fn;

struct dyn_curl {
	DYN_CURL_FUNCS(DYN_MEMBER)
};

struct dyn_strophe {
	DYN_STROPHE_FUNCS(DYN_MEMBER)
};

/*
 * Loads libcurl (libstrophe) if not yet loaded.  0 on success; -1 with
 * *cause set (the caller frees it) if the library or one of its functions
 * is missing.  Safe from any thread.  Start-up calls these where a
 * configuration needs the library, so a missing one fails there.
 */
int	 dyn_curl_load(char **cause);
int	 dyn_strophe_load(char **cause);

/* The loaded tables, loading first if need be; fatal if that fails. */
const struct dyn_curl	 *dyn_curl(void);
const struct dyn_strophe *dyn_strophe(void);

/* The callers' names, through the tables (curl.h's type-checking macros
 * for the setopt and getinfo families give way). */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_easy_cleanup	(*dyn_curl()->p_curl_easy_cleanup)
#define curl_easy_escape	(*dyn_curl()->p_curl_easy_escape)
#define curl_easy_getinfo	(*dyn_curl()->p_curl_easy_getinfo)
#define curl_easy_init		(*dyn_curl()->p_curl_easy_init)
#define curl_easy_setopt	(*dyn_curl()->p_curl_easy_setopt)
#define curl_easy_strerror	(*dyn_curl()->p_curl_easy_strerror)
#define curl_free		(*dyn_curl()->p_curl_free)
#define curl_global_cleanup	(*dyn_curl()->p_curl_global_cleanup)
#define curl_global_init	(*dyn_curl()->p_curl_global_init)
#define curl_multi_add_handle	(*dyn_curl()->p_curl_multi_add_handle)
#define curl_multi_cleanup	(*dyn_curl()->p_curl_multi_cleanup)
#define curl_multi_info_read	(*dyn_curl()->p_curl_multi_info_read)
#define curl_multi_init		(*dyn_curl()->p_curl_multi_init)
#define curl_multi_remove_handle (*dyn_curl()->p_curl_multi_remove_handle)
#define curl_multi_setopt	(*dyn_curl()->p_curl_multi_setopt)
#define curl_multi_socket_action (*dyn_curl()->p_curl_multi_socket_action)
#define curl_multi_timeout	(*dyn_curl()->p_curl_multi_timeout)
#define curl_slist_append	(*dyn_curl()->p_curl_slist_append)
#define curl_slist_free_all	(*dyn_curl()->p_curl_slist_free_all)
#define curl_url		(*dyn_curl()->p_curl_url)
#define curl_url_cleanup	(*dyn_curl()->p_curl_url_cleanup)
#define curl_url_get		(*dyn_curl()->p_curl_url_get)
#define curl_url_set		(*dyn_curl()->p_curl_url_set)
#define curl_version_info	(*dyn_curl()->p_curl_version_info)

#define xmpp_conn_is_disconnected (*dyn_strophe()->p_xmpp_conn_is_disconnected)
#define xmpp_conn_is_secured	(*dyn_strophe()->p_xmpp_conn_is_secured)
#define xmpp_conn_new		(*dyn_strophe()->p_xmpp_conn_new)
#define xmpp_conn_release	(*dyn_strophe()->p_xmpp_conn_release)
#define xmpp_conn_send_queue_len (*dyn_strophe()->p_xmpp_conn_send_queue_len)
#define xmpp_conn_set_cafile	(*dyn_strophe()->p_xmpp_conn_set_cafile)
#define xmpp_conn_set_certfail_handler \
	(*dyn_strophe()->p_xmpp_conn_set_certfail_handler)
#define xmpp_conn_set_flags	(*dyn_strophe()->p_xmpp_conn_set_flags)
#define xmpp_conn_set_jid	(*dyn_strophe()->p_xmpp_conn_set_jid)
#define xmpp_conn_set_pass	(*dyn_strophe()->p_xmpp_conn_set_pass)
#define xmpp_conn_set_sockopt_callback \
	(*dyn_strophe()->p_xmpp_conn_set_sockopt_callback)
#define xmpp_connect_client	(*dyn_strophe()->p_xmpp_connect_client)
#define xmpp_ctx_free		(*dyn_strophe()->p_xmpp_ctx_free)
#define xmpp_ctx_new		(*dyn_strophe()->p_xmpp_ctx_new)
#define xmpp_disconnect		(*dyn_strophe()->p_xmpp_disconnect)
#define xmpp_free		(*dyn_strophe()->p_xmpp_free)
#define xmpp_handler_add	(*dyn_strophe()->p_xmpp_handler_add)
#define xmpp_initialize		(*dyn_strophe()->p_xmpp_initialize)
#define xmpp_iq_new		(*dyn_strophe()->p_xmpp_iq_new)
#define xmpp_message_new	(*dyn_strophe()->p_xmpp_message_new)
#define xmpp_message_set_body	(*dyn_strophe()->p_xmpp_message_set_body)
#define xmpp_presence_new	(*dyn_strophe()->p_xmpp_presence_new)
#define xmpp_run_once		(*dyn_strophe()->p_xmpp_run_once)
#define xmpp_send		(*dyn_strophe()->p_xmpp_send)
#define xmpp_stanza_add_child	(*dyn_strophe()->p_xmpp_stanza_add_child)
#define xmpp_stanza_get_child_by_name \
	(*dyn_strophe()->p_xmpp_stanza_get_child_by_name)
#define xmpp_stanza_get_child_by_name_and_ns \
	(*dyn_strophe()->p_xmpp_stanza_get_child_by_name_and_ns)
#define xmpp_stanza_get_children (*dyn_strophe()->p_xmpp_stanza_get_children)
#define xmpp_stanza_get_from	(*dyn_strophe()->p_xmpp_stanza_get_from)
#define xmpp_stanza_get_id	(*dyn_strophe()->p_xmpp_stanza_get_id)
#define xmpp_stanza_get_name	(*dyn_strophe()->p_xmpp_stanza_get_name)
#define xmpp_stanza_get_next	(*dyn_strophe()->p_xmpp_stanza_get_next)
#define xmpp_stanza_get_type	(*dyn_strophe()->p_xmpp_stanza_get_type)
#define xmpp_stanza_is_tag	(*dyn_strophe()->p_xmpp_stanza_is_tag)
#define xmpp_stanza_new		(*dyn_strophe()->p_xmpp_stanza_new)
#define xmpp_stanza_release	(*dyn_strophe()->p_xmpp_stanza_release)
#define xmpp_stanza_set_attribute (*dyn_strophe()->p_xmpp_stanza_set_attribute)
#define xmpp_stanza_set_name	(*dyn_strophe()->p_xmpp_stanza_set_name)
#define xmpp_stanza_set_ns	(*dyn_strophe()->p_xmpp_stanza_set_ns)
#define xmpp_stanza_set_to	(*dyn_strophe()->p_xmpp_stanza_set_to)
#define xmpp_stanza_to_text	(*dyn_strophe()->p_xmpp_stanza_to_text)
#define xmpp_uuid_gen		(*dyn_strophe()->p_xmpp_uuid_gen)
#define xmpp_sockopt_cb_keepalive \
	(*dyn_strophe()->p_xmpp_sockopt_cb_keepalive)

#endif /* DYN_H */
