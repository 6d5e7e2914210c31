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
        -- (>=: rows of a resumed load package keep the newest load id).
        where loaded_at >= (
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
