"""An offline HTML reference of the OpenAPI document: no CDN, no script, one static page."""

from __future__ import annotations

import html
import json


def _e(text) -> str:
    return html.escape(str(text or ""))


def render(spec: dict) -> str:
    info = spec.get("info", {})
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>",
        _e(info.get("title")),
        "</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
        "h2{border-bottom:1px solid #ccc;margin-top:2rem}.op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}"
        ".m{font-weight:bold;text-transform:uppercase;margin-right:.5rem}code,pre{background:#f5f5f5;padding:.1rem .3rem}"
        "pre{padding:.5rem;overflow:auto}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}</style>",
        "</head><body><h1>",
        _e(info.get("title")),
        " <small>",
        _e(info.get("version")),
        "</small></h1>",
        "<p>Machine-readable: <a href='/v1/openapi.json'>/v1/openapi.json</a> (OpenAPI ",
        _e(spec.get("openapi")),
        ")</p>",
        "<pre>",
        _e(info.get("description")),
        "</pre>",
    ]
    by_tag: dict[str, list] = {}
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((path, method, op))
    for tag, ops in by_tag.items():
        parts += ["<h2>", _e(tag), "</h2>"]
        for path, method, op in ops:
            parts += [
                "<div class='op'><p><span class='m'>",
                _e(method),
                "</span><code>",
                _e(path),
                "</code> ",
                _e(op.get("summary")),
                "</p>",
            ]
            if op.get("description"):
                parts += ["<p>", _e(op["description"]), "</p>"]
            params = op.get("parameters") or []
            if params:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>")
                for p in params:
                    parts += [
                        "<tr><td><code>",
                        _e(p.get("name")),
                        "</code></td><td>",
                        _e(p.get("in")),
                        "</td><td>",
                        _e(p.get("required", False)),
                        "</td><td><code>",
                        _e(json.dumps(p.get("schema", {}))),
                        "</code></td></tr>",
                    ]
                parts.append("</table>")
            body = ((op.get("requestBody") or {}).get("content") or {}).get("application/json")
            if body:
                parts += ["<p>Request body: <code>", _e(body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]), "</code></p>"]
            parts.append(
                "<p>Responses: "
                + ", ".join(f"<b>{_e(code)}</b> {_e(r.get('description'))}" for code, r in op.get("responses", {}).items())
                + "</p></div>"
            )
    parts.append("<h2>Schemas</h2>")
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        parts += ["<h3 id='", _e(name), "'>", _e(name), "</h3><pre>", _e(json.dumps(schema, indent=1)), "</pre>"]
    parts.append("</body></html>")
    return "".join(parts)
