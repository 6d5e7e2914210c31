{#-
    dbt-spark adds the columns the snapshot staging query has and the
    snapshot table lacks, leaving out dbt's helper column dbt_unique_key
    but not the dbt_unique_key_1, _2, ... of a composite unique_key: they
    became snapshot columns, and the next run's staging query, which adds
    them again, failed on an ambiguous dbt_unique_key_1. Here those helper
    columns are never added; the rest is dbt-spark's macro.
-#}
{% macro spark__create_columns(relation, columns) %}
    {%- set added = [] -%}
    {%- for column in columns -%}
        {%- set name = column.name | lower -%}
        {%- if not (name.startswith('dbt_unique_key_')
            and name[15:].isdigit()) -%}
            {%- do added.append(column) -%}
        {%- endif -%}
    {%- endfor -%}
    {% if added | length > 0 %}
        {% call statement() %}
            alter table {{ relation }} add columns (
            {%- for column in added %}
                `{{ column.name }}` {{ column.data_type }}{{ ',' if not loop.last }}
            {%- endfor %}
            )
        {% endcall %}
    {% endif %}
{% endmacro %}
