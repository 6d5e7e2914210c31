{#-
    The load_at of ghost records: var `vault_ghost_load_at` (default
    1900-01-01 00:00:00) as a timestamp, earlier than any real load.
-#}
{% macro vault_ghost_load_at() -%}
    cast('{{ var("vault_ghost_load_at", "1900-01-01 00:00:00") }}' as timestamp)
{%- endmacro %}
