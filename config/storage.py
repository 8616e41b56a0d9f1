"""Static file storage for production: WhiteNoise's hashed and compressed files.

Django rewrites the references inside CSS and JS files to their hashed names, and fails
`collectstatic` when one names a missing file. The vendored JS libraries (see the vendor READMEs)
name source maps that are not shipped, so JS files are hashed but not rewritten; nothing else in
them refers to a file (ES module imports go through the page's import map, which `{% static %}`
fills with hashed names). CSS is still rewritten.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    patterns = tuple(
        (glob, rules)
        for glob, rules in CompressedManifestStaticFilesStorage.patterns
        if glob != "*.js"
    )
