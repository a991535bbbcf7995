"""``Response``: what ``fetch`` returns, shaped like an ``httpx.Response``."""

from collections.abc import Mapping

from capsule._errors import CapabilityError, HTTPStatusError

class Headers(Mapping):
    """Case-insensitive, multi-valued response headers; ``headers[name]`` joins repeats with ', '."""

    def __init__(self, items=()):
        self._items = [(str(k), str(v)) for k, v in items]

    def __getitem__(self, name):
        key = name.lower()
        values = [v for k, v in self._items if k.lower() == key]
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def __iter__(self):
        seen = set()
        for k, _ in self._items:
            low = k.lower()
            if low not in seen:
                seen.add(low)
                yield low

    def __len__(self):
        return len({k.lower() for k, _ in self._items})

    def __contains__(self, name):
        if not isinstance(name, str):
            return False
        key = name.lower()
        return any(k.lower() == key for k, _ in self._items)

    def get_list(self, name):
        """Every value of header ``name``, in order."""
        key = name.lower()
        return [v for k, v in self._items if k.lower() == key]

    def multi_items(self):
        """Every (name, value) pair as received, repeats included."""
        return list(self._items)

    def __repr__(self):
        return "Headers(%r)" % (self._items,)


class Response:
    """An HTTP response: ``status_code``, ``reason_phrase``, ``headers``, ``url``, ``content``,
    ``text``, ``json()``, ``ok`` and ``raise_for_status()``.
    """

    def __init__(self, url, status_code, reason_phrase, headers, content):
        self.url = url
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.content = content

    @classmethod
    def from_wire(cls, value):
        """Build from a ``call_result`` value ``{url, status, reason, headers, body}``."""
        try:
            url, status = value["url"], value["status"]
            reason, headers, body = value.get("reason", ""), value["headers"], value["body"]
            pairs = [(name, val) for name, val in headers]
        except (TypeError, KeyError, ValueError):
            raise CapabilityError("INTERNAL", "malformed http response from the host") from None
        if not isinstance(url, str) or not isinstance(status, int) or not isinstance(body, bytes):
            raise CapabilityError("INTERNAL", "malformed http response from the host")
        return cls(url, status, reason or "", pairs, body)

    @property
    def encoding(self):
        """The charset named by Content-Type, or 'utf-8'."""
        return self._charset() or "utf-8"

    def _charset(self):
        ctype = self.headers.get("content-type", "")
        for part in ctype.split(";")[1:]:
            key, _, val = part.strip().partition("=")
            if key.strip().lower() == "charset" and val.strip():
                charset = val.strip().strip('"').strip("'")
                try:
                    import codecs

                    codecs.lookup(charset)
                    return charset
                except LookupError:
                    break
        return None

    @property
    def text(self):
        """The body decoded with :attr:`encoding` (undecodable bytes replaced)."""
        return self.content.decode(self.encoding, "replace")

    def json(self, **kwargs):
        """The body parsed as JSON (decoded with the declared charset, else detected as json does)."""
        import json

        if self._charset() is not None:
            return json.loads(self.text, **kwargs)
        return json.loads(self.content, **kwargs)

    @property
    def ok(self):
        """Whether the status is below 400."""
        return self.status_code < 400

    @property
    def is_success(self):
        """Whether the status is 2xx."""
        return 200 <= self.status_code < 300

    @property
    def is_error(self):
        """Whether the status is 4xx or 5xx."""
        return 400 <= self.status_code < 600

    def raise_for_status(self):
        """Raise :class:`HTTPStatusError` for a 4xx/5xx status; return the response otherwise."""
        if self.is_error:
            kind = "Client error" if self.status_code < 500 else "Server error"
            raise HTTPStatusError(
                "%s '%d %s' for url '%s'" % (kind, self.status_code, self.reason_phrase, self.url),
                self,
            )
        return self

    def __repr__(self):
        return "<Response [%d %s]>" % (self.status_code, self.reason_phrase)
