"""Cross-cutting code below the domain apps: it imports none of them."""
