with source as (

    select * from {{ source('carrier', 'shipment_events') }}

),

renamed as (

    select
        trim(event_id) as event_id,
        cast(order_key as bigint) as order_id,
        cast(line_number as integer) as line_number,
        trim(tracking_number) as tracking_number,
        trim(carrier) as carrier_service,
        trim(event_type) as event_type,
        cast(event_time as timestamp) as event_at,
        cast(event_time as date) as event_date,
        trim(location) as event_location,
        {{ mask_pii('trim(signed_by)') }} as signed_by_hash,
        source_file as source_file_name,
        cast(source_line as integer) as source_line_number,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at,
        row_number() over (
            partition by trim(event_id)
            order by _dlt_load_id, source_file, source_line
        ) as delivery_rank

    from source

),

deduplicated as (

    select
        event_id,
        order_id,
        line_number,
        tracking_number,
        carrier_service,
        event_type,
        event_at,
        event_date,
        event_location,
        signed_by_hash,
        source_file_name,
        source_line_number,
        dlt_load_id,
        loaded_at

    from renamed
    where delivery_rank = 1

)

select * from deduplicated
