"""人口底数 and 关爱走访: special groups, addresses, the registry's lists and counts, visits, campaigns, forms."""
