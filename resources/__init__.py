"""Bundled images and desktop files, found through importlib.resources.

The top-level ``resources/`` folder is installed as the ``tray_app.resources``
package, so the same lookup works from a source checkout, a wheel and a
frozen build.
"""
