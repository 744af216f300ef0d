"""The AIBT single-page app (HTML, CSS and ES modules, no build step), served by the API at /app."""
