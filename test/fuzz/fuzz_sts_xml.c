/*
 * fuzz_sts_xml.c -- libFuzzer target for the reader of STS's flat XML
 * replies (sm_xml_element, sm_xml_unescape in src/parse_util.c).
 *
 * Input: a tag name up to the first NUL, then a value up to the next NUL,
 * then the rest as arbitrary XML (each an exact-size copy).
 *
 * Properties:
 *  - on the arbitrary XML: a found element's text lies inside the input,
 *    right after "<tag>" and right before "</tag>", and no "<tag>" occurs
 *    earlier; unescaping it never writes more than len + 1 bytes (into an
 *    exact-size buffer) and never lengthens it;
 *  - round trip: for a document junk + "<tag>" + escape(value) + "</tag>"
 *    (junk holding no "<tag>"), the element is found and unescapes to the
 *    value exactly (escape() here is the reference encoder of the five
 *    predefined entities).
 */
#include "../../src/parse_util.c"

#include "fuzz_common.h"

static char *
escape(const char *v)
{
	char *out = malloc(strlen(v) * 6 + 1);
	char *o = out;

	for (; *v; v++)
	{
		const char *e = NULL;

		switch (*v)
		{
			case '&':
				e = "&amp;";
				break;
			case '<':
				e = "&lt;";
				break;
			case '>':
				e = "&gt;";
				break;
			case '"':
				e = "&quot;";
				break;
			case '\'':
				e = "&apos;";
				break;
		}
		if (e)
		{
			strcpy(o, e);
			o += strlen(e);
		}
		else
			*o++ = *v;
	}
	*o = '\0';
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzReader	r;
	char	   *tag, *value, *xml, *open_tag, *doc, *esc, *out;
	const char *text;
	size_t		len, n;

	fuzz_reader_init(&r, data, size);
	tag = fuzz_take_field(&r, '\0');
	value = fuzz_take_field(&r, '\0');
	xml = fuzz_take_field(&r, '\0');
	open_tag = malloc(strlen(tag) + 3);
	sprintf(open_tag, "<%s>", tag);

	if (sm_xml_element(xml, tag, &text, &len))
	{
		size_t tl = strlen(tag);

		FUZZ_CHECK(text >= xml + tl + 2 && text + len <= xml + strlen(xml),
				   "text outside the input");
		FUZZ_CHECK(memcmp(text - tl - 2, open_tag, tl + 2) == 0,
				   "not after <%s>", tag);
		FUZZ_CHECK(strncmp(text + len, "</", 2) == 0 &&
					   strncmp(text + len + 2, tag, tl) == 0 &&
					   text[len + 2 + tl] == '>',
				   "not before </%s>", tag);
		FUZZ_CHECK(strstr(xml, open_tag) == text - tl - 2, "an earlier <%s>",
				   tag);
		out = malloc(len + 1);
		n = sm_xml_unescape(text, len, out);
		FUZZ_CHECK(n <= len && out[n] == '\0', "unescape length %zu > %zu", n,
				   len);
		free(out);
	}

	/* round trip through a document built here */
	if (tag[0] != '\0' && strchr(tag, '<') == NULL &&
		strchr(tag, '>') == NULL && strstr(xml, open_tag) == NULL)
	{
		esc = escape(value);
		doc = malloc(strlen(xml) + 2 * strlen(open_tag) + strlen(esc) + 2);
		sprintf(doc, "%s%s%s</%s>", xml, open_tag, esc, tag);
		/* junk ending in a prefix of <tag> could still form one: skip */
		if (strstr(doc, open_tag) == doc + strlen(xml))
		{
			FUZZ_CHECK(sm_xml_element(doc, tag, &text, &len), "<%s> not found",
					   tag);
			out = malloc(len + 1);
			n = sm_xml_unescape(text, len, out);
			FUZZ_CHECK(n == strlen(value) && memcmp(out, value, n) == 0,
					   "round trip of \"%s\" gave \"%s\"", value, out);
			free(out);
		}
		free(doc);
		free(esc);
	}
	free(open_tag);
	free(xml);
	free(value);
	free(tag);
	return 0;
}
