"""Everything the zoo keeps on disk or fetches: the one module that spells paths under
the zoo's cache folder (:mod:`.paths`), weights files, bundles, manifests, downloads, hubs and publishing."""
