{#-
    Entry macro for a hub. Renders the CTEs that load it, ending in `final`
    (the model then selects * from final). Each source CTE holds the hash
    key (computed with vault_hash over the business keys, in the same order
    everywhere), the business key columns, `load_at` and `record_source`.
    Insert-only: a run appends the keys the hub does not hold yet, each with
    the earliest load_at it was seen at; the first build adds the ghost
    record (ghost key, null business keys).
-#}
{% macro vault_hub(source_ctes, hash_key, business_keys) -%}
    {{ vault_new_keys(source_ctes, hash_key, business_keys, []) }}
{%- endmacro %}
