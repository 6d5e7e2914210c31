-- An order line's attributes in the ERP (on link_order_line).
with order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

order_lines_keyed as (

    select
        {{ vault_hash(['order_id', 'line_number']) }} as order_line_hk,
        quantity,
        extended_price,
        discount_rate,
        tax_rate,
        return_flag,
        line_status,
        ship_date,
        commit_date,
        receipt_date,
        ship_instructions,
        ship_mode,
        order_line_comment,
        loaded_at as load_at,
        'erp.lineitem' as record_source
    from order_lines

),

{{ vault_sat(
    'order_lines_keyed',
    'order_line_hk',
    'order_line_hashdiff',
    [
        'quantity',
        'extended_price',
        'discount_rate',
        'tax_rate',
        'return_flag',
        'line_status',
        'ship_date',
        'commit_date',
        'receipt_date',
        'ship_instructions',
        'ship_mode',
        'order_line_comment',
    ],
) }}

select * from final
