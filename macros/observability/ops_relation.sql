{#-
    The relation of one run-history table in the ops schema (of the target
    database; Spark's targets have none).
-#}
{% macro ops_relation(table_name) %}
    {{ return(api.Relation.create(
        database=target.database if target.database is defined else none,
        schema='ops',
        identifier=table_name,
    )) }}
{% endmacro %}
