{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy=upsert_strategy(),
        on_schema_change='fail',
        post_hook=[
            "{{ delete_rows_missing_from(
                ref('int_shipment_events_matched'), ['event_id']
            ) }}",
        ],
    )
}}

with shipment_events as (

    select * from {{ ref('int_shipment_events_matched') }}

),

batch as (

    select
        event_id,
        order_id,
        line_number,
        event_type,
        event_at,
        event_date,
        tracking_number,
        carrier_service,
        event_location,
        signed_by_hash,
        loaded_at
    from shipment_events
    {% if is_incremental() %}
        -- Events loaded since the last run: new, late and re-delivered ones
        -- (from the newest load on while a resumed package may still add
        -- rows under its load id, see incremental_load_operator).
        where loaded_at {{ incremental_load_operator('carrier') }} (
            select coalesce(max(loaded_at), {{ scd2_low_date() }})
            from {{ this }}
        )
    {% endif %}

),

final as (

    select
        event_id,
        {{ surrogate_key(['order_id', 'line_number']) }} as order_line_sk,
        order_id,
        line_number,
        event_type,
        event_at,
        event_date,
        tracking_number,
        carrier_service,
        event_location,
        signed_by_hash,
        loaded_at
    from batch

)

select * from final
