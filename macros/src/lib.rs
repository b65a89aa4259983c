//! `#[derive(db::FromRow)]` for the pipelining driver behind `tessera::db`'s seam: each named
//! field is read from the column of the same name. It takes no attributes; a struct whose
//! columns are named otherwise aliases them in its statement.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, parse_macro_input};

#[proc_macro_derive(FromRow)]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => named.named.iter().collect::<Vec<_>>(),
            _ => {
                return syn::Error::new_spanned(name, "FromRow needs named fields")
                    .to_compile_error()
                    .into();
            }
        },
        _ => {
            return syn::Error::new_spanned(name, "FromRow derives only for structs")
                .to_compile_error()
                .into();
        }
    };
    let reads = fields.iter().filter_map(|f| {
        let ident = f.ident.as_ref()?;
        let column = ident.to_string();
        let column = column.strip_prefix("r#").unwrap_or(&column).to_owned();
        Some(quote! { #ident: crate::db::RowExt::try_get(row, #column)? })
    });
    quote! {
        impl #impl_generics crate::db::FromRow for #name #ty_generics #where_clause {
            fn from_row(row: &crate::db::Row) -> ::std::result::Result<Self, crate::db::Error> {
                ::std::result::Result::Ok(Self { #(#reads),* })
            }
        }
    }
    .into()
}
