{#-
    dbt-spark's relation listing, corrected for Iceberg tables in Spark's
    session catalog: `show table extended` reports them as `Provider: hive`
    (their provider lives in the table property table_type=ICEBERG), so
    dbt-spark would take a snapshot table for a Hive table and refuse to
    merge into it. Rows are returned as they come, with the provider put
    right for Iceberg tables.
-#}
{% macro spark__list_relations_without_caching(relation) %}
    {% call statement('list_relations_without_caching', fetch_result=True) -%}
        show table extended in {{ relation.schema }} like '*'
    {%- endcall %}
    {%- set rows = [] -%}
    {%- for row in load_result('list_relations_without_caching').table.rows -%}
        {%- set information = row[3] -%}
        {%- if 'TABLE_TYPE=ICEBERG' in (information | upper) -%}
            {%- set information = information | replace('Provider: hive', 'Provider: iceberg') -%}
        {%- endif -%}
        {%- do rows.append([row[0], row[1], row[2], information]) -%}
    {%- endfor -%}
    {{ return(rows) }}
{% endmacro %}
