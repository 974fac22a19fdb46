"""Everything the zoo keeps on disk or fetches: the one module that spells paths under
``ZOO_HOME`` (:mod:`.paths`), weights files, bundles, manifests, downloads, hubs and publishing."""
