{#- The relation of one run-history table in the ops schema. -#}
{% macro ops_relation(table_name) %}
    {{ return(api.Relation.create(
        database=target.database,
        schema='ops',
        identifier=table_name,
    )) }}
{% endmacro %}
