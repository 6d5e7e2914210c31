{#-
    dbt's unit-test materialization on Spark. dbt's own (`unit, default`)
    creates a temporary view of the model's empty result to read the column
    types of the expected rows, through run_query, which fetches a result
    set; Spark's Thrift server answers a `create temporary view` with a
    result schema but no columns, and PyHive then fails with "'NoneType'
    object is not iterable" (every unit test errored). Here the view is
    created by a statement that fetches nothing; the rest follows dbt's
    steps: types from the view, expected rows cast to them, the model's SQL
    compared with the expected rows, the view dropped.
-#}
{%- materialization unit, adapter='spark' -%}

    {%- set expected_rows = config.get('expected_rows') -%}
    {%- set expected_sql = config.get('expected_sql') -%}
    {%- if expected_rows | length > 0 -%}
        {%- set tested_column_names = expected_rows[0].keys() -%}
    {%- else -%}
        {%- set tested_column_names = get_columns_in_query(sql) -%}
    {%- endif -%}

    {%- set temp_relation = make_temp_relation(
        this.incorporate(type='table')
    ) -%}
    {% call statement('unit_test_empty_model') -%}
        {{ get_create_table_as_sql(True, temp_relation, get_empty_subquery_sql(sql)) }}
    {%- endcall %}

    {%- set data_types = {} -%}
    {%- set quoted_names = {} -%}
    {%- for column in adapter.get_columns_in_relation(temp_relation) -%}
        {%- do data_types.update({column.name | lower: column.data_type}) -%}
        {%- do quoted_names.update({column.name | lower: column.quoted}) -%}
    {%- endfor -%}
    {%- set tested_columns_quoted = [] -%}
    {%- for name in tested_column_names -%}
        {%- do tested_columns_quoted.append(quoted_names[name | lower]) -%}
    {%- endfor -%}

    {%- if not expected_sql -%}
        {%- set expected_sql = get_expected_sql(
            expected_rows, data_types, quoted_names
        ) -%}
    {%- endif -%}

    {% call statement('main', fetch_result=True) -%}
        {{ get_unit_test_sql(sql, expected_sql, tested_columns_quoted) }}
    {%- endcall %}

    {% do adapter.drop_relation(temp_relation) %}

    {{ return({'relations': []}) }}

{%- endmaterialization -%}
