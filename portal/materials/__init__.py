"""The promotion material library: images, copy text, tutorials and chat scripts that ops
publish and distributors share, filled with their own links and codes."""
