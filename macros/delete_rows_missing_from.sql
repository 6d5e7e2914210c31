{#-
    Post-hook of an incremental fact: deletes the fact's rows whose key no
    longer exists in `upstream`, the relation the fact is built from (an
    order cancelled in the ERP is hard-deleted from raw and staging, so its
    rows must leave the fact too). A no-op on a full build.
-#}
{% macro delete_rows_missing_from(upstream, key_columns) %}
    delete from {{ this }}
    where not exists (
        select 1
        from {{ upstream }} as upstream
        where
            {% for column in key_columns -%}
                upstream.{{ column }} = {{ this.identifier }}.{{ column }}
                {%- if not loop.last %} and {% endif %}
            {% endfor %}
    )
{%- endmacro %}
