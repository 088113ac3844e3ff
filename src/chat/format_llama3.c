/* Llama 3.1 / 3.2 / 3.3 Instruct: "<|begin_of_text|>", a system turn with
 * the knowledge cutoff and today's date (then the first message's text when
 * it is a system message), then one "<|start_header_id|>ROLE<|end_header_id|>\n\n"
 * TEXT "<|eot_id|>" turn per message. Texts are trimmed, tool results are
 * not (they go under the "ipython" header). A developer message keeps its
 * own "developer" header, as the templates write it. Without tools, 3.1/3.3
 * and 3.2 render the same. */
#include "chat_int.h"

static void header(dl_pb *pb, const char *role) {
    dl_pb_lit(pb, "<|start_header_id|>");
    dl_pb_lit(pb, role);
    dl_pb_lit(pb, "<|end_header_id|>\n\n");
}

int dl_fmt_llama3(dl_pb *pb, const dl_chat_format *f, const dl_chat_msg *m, size_t n,
                  const dl_chat_opts *o, dl_error *err) {
    struct tm tm;
    dl_chat_utc_date(o, &tm);
    dl_pb_bos(pb, "<|begin_of_text|>");
    header(pb, "system");
    dl_pb_lit(pb, "Cutting Knowledge Date: December 2023\n");
    dl_pb_litf(pb, "Today Date: %02d %s %d\n\n", tm.tm_mday, dl_chat_month(tm.tm_mon, false),
               tm.tm_year + 1900);
    size_t i = 0;
    if (m[0].role == DL_ROLE_SYSTEM) dl_pb_text(pb, dl_str_trim(dl_str_of(m[i++].content)));
    dl_pb_lit(pb, "<|eot_id|>");
    for (; i < n; i++) {
        dl_str c = dl_str_of(m[i].content);
        if (m[i].role == DL_ROLE_TOOL) {
            header(pb, "ipython");
            dl_pb_text(pb, c);
        } else {
            header(pb, dl_role_name(m[i].role));
            dl_pb_text(pb, dl_str_trim(c));
        }
        dl_pb_lit(pb, "<|eot_id|>");
    }
    if (o->add_generation_prompt) header(pb, "assistant");
    (void)f;
    (void)err;
    return 0;
}
