"""One Powertools `Router` per resource; `metrics_api.app` includes them in the resolver."""
