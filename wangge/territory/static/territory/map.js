// map.js: filled in by the pages work
