{#-
    Entry macro for a link. Renders the CTEs that load it, ending in
    `final`. Each source CTE holds the link's hash key (vault_hash over the
    parents' business keys and the dependent child keys), the parents' hash
    keys, the dependent child keys, `load_at` and `record_source`.
    Insert-only: a run appends the relationships the link does not hold
    yet; the first build adds the ghost record (ghost keys throughout).
-#}
{% macro vault_link(
    source_ctes, hash_key, parent_hash_keys, dependent_keys=[]
) -%}
    {{ vault_new_keys(
        source_ctes,
        hash_key,
        parent_hash_keys + dependent_keys,
        parent_hash_keys,
    ) }}
{%- endmacro %}
