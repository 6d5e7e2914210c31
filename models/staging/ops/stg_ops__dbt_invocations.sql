with source as (

    select * from {{ source('ops', 'dbt_invocations') }}

),

renamed as (

    select
        invocation_id,
        command as dbt_command,
        target_name,
        dbt_version,
        selector,
        cast(started_at as timestamp) as started_at,
        cast(ended_at as timestamp) as ended_at,
        cast(duration_seconds as {{ type_double() }}) as duration_seconds,
        status as invocation_status,
        cast(nodes as integer) as node_count

    from source

)

select * from renamed
