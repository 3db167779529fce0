"""One GET of JSON from a public statistics API (Kolada, SCB), with Swedish errors.

The callers pass their module's ``urlopen`` (tests replace it there; nothing else touches the
network), their own error class and the hints for HTTP statuses that the API uses to say
something specific.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping

from helpers import __version__


def get_json(url: str, *, source: str, error: type[Exception], opener: Callable, timeout: float,
             hints: Mapping[int, str] | None = None) -> object:
    """GET ``url`` and parse the JSON body; ``error`` with a Swedish message naming ``source``, the
    URL and the HTTP status (and the hint for that status) on any failure."""
    req = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": f"genomlysning/{__version__}"})
    try:
        with opener(req, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        hint = (hints or {}).get(exc.code, "")
        raise error(f"{source} svarade med HTTP-status {exc.code} ({exc.reason}) för {url}{hint}") from None
    except urllib.error.URLError as exc:
        raise error(f"{source} kunde inte nås ({exc.reason}) för {url}") from None
    except TimeoutError:
        raise error(f"{source} svarade inte inom {timeout:g} sekunder för {url}") from None
    except OSError as exc:
        raise error(f"{source} kunde inte nås ({exc}) för {url}") from None
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise error(f"Svaret från {source} för {url} är inte JSON") from None
