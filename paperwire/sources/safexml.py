"""Parsing untrusted XML from upstream services without letting it hurt us.

defusedxml refuses entity declarations and external references, so a
billion-laughs document or an XXE probe fails at once instead of eating memory
(https://github.com/tiran/defusedxml#attack-vectors). Sources call `parse_xml`
and get a FetchError for anything that is not plain, well-formed XML.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from paperwire.sources import FetchError


def parse_xml(data: bytes, *, what: str) -> Element:
    """The root element of `data`; raises FetchError naming `what` when it is unsafe or malformed."""
    try:
        return fromstring(data)
    except DefusedXmlException as error:
        raise FetchError(f"refused the {what}: it uses forbidden XML features ({error})") from None
    except ParseError as error:
        start = data[:80].decode("utf-8", "replace")
        raise FetchError(f"the {what} is not well-formed XML ({error}); it starts {start!r}") from None
